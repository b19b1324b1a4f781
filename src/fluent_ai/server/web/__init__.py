"""The chat page's files (HTML, ES modules, CSS), served by :mod:`fluent_ai.server.web_page`."""
