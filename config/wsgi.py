import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The loaded app (modules, URL patterns, translations: hundreds of thousands of objects that live as
# long as the process) leaves the garbage collector's generations: a full collection then walks only
# what requests made, instead of pausing a request for every object the app ever loaded.
gc.freeze()
