"""The Zalo Official Account adapter: the same citizen conversation as Telegram and the web chat."""
