# bookme: English texts. Edit freely; keep every message id.
# Variables: $owner is BOOKME_OWNER_NAME, $minutes is BOOKME_MEETING_MINUTES.

language-name = English
language-switch-label = Language

booking-title = Book a meeting
booking-title-with-owner = Book a meeting with { $owner }
booking-intro = Choose a time that suits you. You will get a confirmation with the meeting details by email, and you can reschedule or cancel from it.
booking-intro-with-owner = Choose a time that suits you for a call with { $owner }. You will get a confirmation with the meeting details by email, and you can reschedule or cancel from it.
meeting-length-label = Length
meeting-length = { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}
meta-description = Pick a free time slot and book a meeting online.
meta-description-with-owner = Pick a free time slot and book a meeting with { $owner } online.

embed-region-label = Booking calendar
fallback-text = If the calendar does not appear, you can book on Cal.com directly.
fallback-link = Open the booking calendar

not-configured-title = Booking is not set up yet
not-configured-text = Online booking will be available here soon. Please come back later.

not-found-title = Page not found
not-found-text = There is nothing at this address. It may have moved, or the link may be mistyped.
not-found-link = Go to the booking page
