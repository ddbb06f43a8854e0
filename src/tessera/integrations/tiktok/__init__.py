"""TikTok Shop: the Partner API's order shape (version 202309)."""
