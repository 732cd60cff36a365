# Панель администратора /admin. Идентификаторы совпадают с locales/en/admin.ftl.

language-name = Русский
brand-admin = админка
nav-label = Панель
nav-overview = Обзор
nav-deliveries = Доставки
nav-bookings = Бронирования
nav-dead = Недоставленные
sign-out = Выйти

login-title = Вход
login-intro = Введите токен администратора (BOOKME_ADMIN_TOKEN) этого экземпляра bookme.
login-token = Токен администратора
login-submit = Войти
login-wrong-token = Неверный токен.
login-expired = Форма устарела. Попробуйте ещё раз.

overview-title = Обзор
last-received = Последняя доставка
never = ещё не было
tiles-label = Счётчики
tile-deliveries = Доставки
tile-upcoming = Предстоящие встречи
chart-title = Бронирования по дням за 30 дней
chart-description = Созданные и отменённые бронирования по дням (UTC) по обработанным доставкам.
chart-created = Созданы
chart-cancelled = Отменены
recent-title = Последние доставки
see-all = Все доставки
hint-title = Отладка интеграции
hint-doctor = Проверьте настройку:
hint-send-test = Отправьте подписанную тестовую доставку:
hint-watch = Она появится здесь и в

deliveries-title = Доставки
filter-any = Все
filter-apply = Показать
empty-deliveries = Доставок пока нет.
col-received = Получена
col-trigger = Событие
col-status = Статус
col-attempts = Попытки
col-booking = Бронирование
pager-label = Страницы
pager-first = ← Новые
pager-next = Старше →

status-pending = В очереди
status-processed = Обработана
status-quarantined = В карантине
status-dead = Не обработана

replay = Повторить
flash-replayed = Доставка снова поставлена в очередь.
flash-replayed-dead = { $count ->
    [one] Повторена { $count } недоставленная доставка.
    [few] Повторены { $count } недоставленные доставки.
   *[other] Повторено { $count } недоставленных доставок.
}
last-error = Последняя ошибка
processing-title = Обработка
headers-title = Заголовки запроса
body-title = Тело
body-bytes = { $count ->
    [one] { $count } байт
    [few] { $count } байта
   *[other] { $count } байт
}
field-id = Идентификатор
field-received = Получена
field-shape = Формат
field-attempts = Неудачных попыток
field-processed-times = Обработана раз
field-processed-at = Обработана
field-next-attempt = Следующая попытка
field-note = Примечание

dead-title = Недоставленные
dead-intro = Доставки, которые не удалось обработать ни с одной попытки. Устраните причину и повторите их.
replay-all-dead = Повторить все

bookings-title = Бронирования
views-label = Разделы
view-upcoming = Предстоящие
view-past = Прошедшие
view-cancelled = Отменённые
empty-bookings = В этом разделе бронирований нет.
col-start = Начало
col-attendee = Участник
col-event-type = Тип встречи
col-chain = Доставки
booking-details = Подробности
booking-pending = Ожидает
booking-accepted = Подтверждено
booking-cancelled = Отменено
booking-rejected = Отклонено
booking-rescheduled = Перенесено
booking-unknown = Неизвестно
field-title = Название
field-start = Начало
field-end = Конец
field-event-type = Тип встречи
field-attendee = Участник
field-email = Эл. почта
field-time-zone = Часовой пояс участника
field-location = Место
field-cancellation-reason = Причина отмены
field-rescheduled-from = Перенесено с
field-rescheduled-to = Перенесено на
