"""Phone numbers of SMS channels: buying one, its monthly fee, and its release when fees go unpaid.

This app owns the code (services, selectors, the purchase page, tasks, the bill_numbers
command, admin) but not the tables: `PhoneNumber` and `NumberFeeCharge` stay in
`usage.models`, so no row and no migration history moved. Usage records point at numbers and
ingest routes by them, so the models belong with usage; everything about what a number
costs and when it goes belongs here.
"""
