"""`manage.py check --deploy` reports what production refuses at start (see config/deploy.py)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from config.deploy import deployment_problems


@register(Tags.security, deploy=True)
def production_values_check(app_configs, **kwargs):
    """config.E001: the sandboxes are on; config.E002: a secret holds a sandbox or example value."""
    return [
        Error(
            message,
            hint="see the production checklist in README.md",
            obj=variable,
            id="config.E001" if variable == "SANDBOXES_ENABLED" else "config.E002",
        )
        for variable, message in deployment_problems(lambda name: getattr(settings, name, None))
    ]
