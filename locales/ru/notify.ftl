# Уведомления владельцу (Telegram, почта). Значения { $… } подставляет
# bookme; текст от участников экранирует отправитель, а не этот файл.

notify-created = Новая запись
notify-rescheduled = Запись перенесена
notify-cancelled = Запись отменена
notify-requested = Запрос на запись: подтвердите или отклоните
notify-rejected = Запись отклонена
notify-paid = Запись оплачена
notify-test = Проверка bookme

notify-who = Кто
notify-when = Когда
notify-was = Было
notify-now = Стало
notify-duration = Длительность
notify-notes = Комментарий
notify-video = Видео
notify-where = Где
notify-reason = Причина
notify-booking = Запись
notify-test-body = Если вы это читаете, bookme может отправлять сюда уведомления.
notify-request-reschedule = Организатор попросил выбрать другое время.

notify-minutes = { $minutes ->
    [one] { $minutes } минута
    [few] { $minutes } минуты
   *[many] { $minutes } минут
}

# Дата вида «пт, 14 мар.».
notify-date = { $weekday }, { $day } { $month }

weekday-1 = пн
weekday-2 = вт
weekday-3 = ср
weekday-4 = чт
weekday-5 = пт
weekday-6 = сб
weekday-7 = вс

month-1 = янв.
month-2 = февр.
month-3 = мар.
month-4 = апр.
month-5 = мая
month-6 = июн.
month-7 = июл.
month-8 = авг.
month-9 = сент.
month-10 = окт.
month-11 = нояб.
month-12 = дек.
