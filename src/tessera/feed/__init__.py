"""Channel availability feeds: buffers per channel, pushed to Shopify, Amazon and TikTok Shop
through the job outbox within seconds of a stock change."""
