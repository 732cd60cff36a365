# The admin dashboard at /admin. Keep the ids in step with locales/ru/admin.ftl.

language-name = English
brand-admin = admin
nav-label = Dashboard
nav-overview = Overview
nav-deliveries = Deliveries
nav-bookings = Bookings
nav-dead = Dead letters
sign-out = Sign out

login-title = Sign in
login-intro = Enter the admin token (BOOKME_ADMIN_TOKEN) of this bookme instance.
login-token = Admin token
login-submit = Sign in
login-wrong-token = That token is not right.
login-expired = The form expired. Please try again.

overview-title = Overview
last-received = Last delivery received
never = never
tiles-label = Counts
tile-deliveries = Deliveries
tile-upcoming = Upcoming bookings
chart-title = Bookings per day, last 30 days
chart-description = Bookings created and cancelled per day (UTC), from processed deliveries.
chart-created = Created
chart-cancelled = Cancelled
recent-title = Latest deliveries
see-all = See all
hint-title = Debugging an integration
hint-doctor = Check the setup:
hint-send-test = Send a signed test delivery:
hint-watch = Watch it land here and in

deliveries-title = Deliveries
filter-any = Any
filter-apply = Filter
empty-deliveries = No deliveries here yet.
col-received = Received
col-trigger = Trigger
col-status = Status
col-attempts = Attempts
col-booking = Booking
pager-label = Pages
pager-first = ← Newest
pager-next = Older →

status-pending = Pending
status-processed = Processed
status-quarantined = Quarantined
status-dead = Dead

replay = Replay
flash-replayed = Replayed: the delivery is queued again.
flash-replayed-dead = { $count ->
    [one] Replayed { $count } dead delivery.
   *[other] Replayed { $count } dead deliveries.
}
last-error = Last error
processing-title = Processing
headers-title = Request headers
body-title = Body
body-bytes = { $count ->
    [one] { $count } byte
   *[other] { $count } bytes
}
field-id = Id
field-received = Received
field-shape = Shape
field-attempts = Failed attempts
field-processed-times = Times processed
field-processed-at = Processed at
field-next-attempt = Next attempt
field-note = Note

dead-title = Dead letters
dead-intro = Deliveries that failed every attempt. Fix the cause, then replay them.
replay-all-dead = Replay all dead letters

bookings-title = Bookings
views-label = Views
view-upcoming = Upcoming
view-past = Past
view-cancelled = Cancelled
empty-bookings = No bookings in this view.
col-start = Starts
col-attendee = Attendee
col-event-type = Event type
col-chain = Deliveries
booking-details = Details
booking-pending = Pending
booking-accepted = Accepted
booking-cancelled = Cancelled
booking-rejected = Rejected
booking-rescheduled = Rescheduled
booking-unknown = Unknown
field-title = Title
field-start = Starts
field-end = Ends
field-event-type = Event type
field-attendee = Attendee
field-email = Email
field-time-zone = Attendee time zone
field-location = Location
field-cancellation-reason = Cancellation reason
field-rescheduled-from = Rescheduled from
field-rescheduled-to = Rescheduled to
