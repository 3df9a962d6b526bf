"""Product numbers of the finance screens, named once."""

# Months of top-ups against usage the dashboard charts (the current month included).
DASHBOARD_MONTHS = 6
# How far ahead the dashboard lists numbers due for release, in days.
RELEASE_HORIZON_DAYS = 30
# Failed top-ups older than this many days drop off the dashboard (the admin list keeps them).
FAILED_TOP_UP_DAYS = 30
