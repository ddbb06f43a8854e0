"""Create's content: uploads checked by what they hold, reviews, versions, channel specs and
renditions."""
