# bookme: русские тексты. Меняйте свободно, идентификаторы сообщений оставляйте.
# Переменные: $owner — BOOKME_OWNER_NAME, $minutes — BOOKME_MEETING_MINUTES.

language-name = Русский
language-switch-label = Язык

booking-title = Запись на встречу
booking-title-with-owner = Запись на встречу: { $owner }
booking-intro = Выберите удобное время. Подтверждение с деталями встречи придёт на почту, из него же можно перенести или отменить запись.
booking-intro-with-owner = Выберите удобное время для звонка. { $owner } получит вашу запись, а вам на почту придёт подтверждение с деталями встречи; из него же можно перенести или отменить запись.
meeting-length-label = Длительность
meeting-length = { $minutes ->
    [one] { $minutes } минута
    [few] { $minutes } минуты
   *[many] { $minutes } минут
}
meta-description = Выберите свободное время и запишитесь на встречу онлайн.
meta-description-with-owner = Выберите свободное время и запишитесь на встречу онлайн: { $owner }.

embed-region-label = Календарь записи
fallback-text = Если календарь не появился, запишитесь напрямую на Cal.com.
fallback-link = Открыть календарь записи

not-configured-title = Запись пока не настроена
not-configured-text = Скоро здесь можно будет записаться онлайн. Загляните позже.

not-found-title = Страница не найдена
not-found-text = По этому адресу ничего нет. Возможно, страница переехала или в ссылке опечатка.
not-found-link = Перейти к записи
