"""The languages we ship (settings.LANGUAGES), importable without Django settings (config/catalogues.py).

Names are endonyms, so a user finds their own language whatever language the page is in.
Adding one: README "Languages".
"""

LANGUAGES = [
    ("en", "English"),
    ("uk", "Українська"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("pt-br", "Português (Brasil)"),
    ("pl", "Polski"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
]
