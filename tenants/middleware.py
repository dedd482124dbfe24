"""Enter the signed-in member's company scope for HTML views."""

from __future__ import annotations

from tenants.scoping import company_scope
from tenants.selectors import membership_for_session


class CompanyScopeMiddleware:
    """Sets `request.membership` / `request.company` and runs the view in that company's scope.

    Anonymous users and users with no seat get no scope: tenant queries then raise.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.session.session_key:
            # No session cookie: anonymous, and probes like /healthz touch no database.
            request.membership = request.company = None
            return self.get_response(request)
        membership = membership_for_session(user=request.user, session=request.session)
        request.membership = membership
        request.company = membership.company if membership else None
        if membership is None:
            return self.get_response(request)
        with company_scope(membership.company):
            return self.get_response(request)


class MembershipLanguageMiddleware:
    """The signed-in seat's language (its Settings choice, else Pipedrive's) over the browser's.

    Runs after CompanyScopeMiddleware (which finds the seat) and inside Django's LocaleMiddleware,
    which already activated the Accept-Language choice and sets Content-Language on the way out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from tenants.language import activate_for_membership

        if getattr(request, "membership", None) is not None:
            activate_for_membership(request, request.membership)
        return self.get_response(request)
