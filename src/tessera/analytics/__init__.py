"""Analytics: the maths that measures customers and channels, pure and separate from storage."""
