# Owner notifications (Telegram, email). Values in { $… } are filled in by
# bookme; attendee-provided text is escaped by the sender, not here.

notify-created = New booking
notify-rescheduled = Booking rescheduled
notify-cancelled = Booking cancelled
notify-requested = Booking request: please confirm or decline
notify-rejected = Booking declined
notify-paid = Booking paid
notify-test = bookme test message

notify-who = Who
notify-when = When
notify-was = Was
notify-now = Now
notify-duration = Duration
notify-notes = Notes
notify-video = Video
notify-where = Where
notify-reason = Reason
notify-booking = Booking
notify-test-body = If you can read this, bookme can reach this destination.
notify-request-reschedule = The host asked the attendee to pick another time.

notify-minutes = { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}

# A date such as "Fri 14 Mar".
notify-date = { $weekday } { $day } { $month }

weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun

month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec
