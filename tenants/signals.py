from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from tenants.selectors import ACTIVE_MEMBERSHIP_SESSION_KEY


@receiver(user_logged_in)
def forget_active_membership(request, user, **kwargs):
    # A new sign-in starts from the user's first seat unless the flow picks one.
    request.session.pop(ACTIVE_MEMBERSHIP_SESSION_KEY, None)
