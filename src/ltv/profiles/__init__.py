"""User profiles: category interests, segments, churn and cold start, built point in time from the warehouse."""
