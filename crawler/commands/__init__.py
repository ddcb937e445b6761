"""The project's Scrapy commands (``COMMANDS_MODULE``): ``crawl`` with clear failures."""
