"""URL map of the QuickBooks sandbox, mounted at /sandbox/quickbooks/ (see README.md)."""

from django.urls import path, re_path

from integration.sandbox.quickbooks import api, control_views, views

app_name = "qbo_sandbox"

urlpatterns = [
    path("", views.home, name="home"),
    # OAuth 2.0 (Intuit: appcenter.intuit.com/connect/oauth2, oauth.platform.intuit.com/oauth2/v1/...)
    path("oauth2/authorize", views.authorize, name="authorize"),
    path("oauth2/tokens/bearer", views.token, name="token"),
    path("oauth2/tokens/revoke", views.revoke, name="revoke"),
    path("oauth2/openid_connect/userinfo", views.userinfo, name="userinfo"),
    path("oauth2/op/v1", views.issuer, name="issuer"),
    path("oauth2/op/v1/jwks", views.jwks, name="jwks"),
    path(".well-known/openid_configuration", views.discovery, name="discovery"),
    path(".well-known/openid_configuration/", views.discovery),
    path("app/", views.app_deep_link, name="app"),
    path("app/<path:path>", views.app_deep_link),
    # Test controls (JSON)
    path("_control/state", control_views.state, name="control-state"),
    path("_control/reset", control_views.reset, name="control-reset"),
    path("_control/seed", control_views.seed, name="control-seed"),
    path("_control/clock/advance", control_views.advance_clock, name="control-clock"),
    path("_control/failures", control_views.failures, name="control-failures"),
    path("_control/tokens/expire", control_views.expire_tokens, name="control-expire-tokens"),
    path("_control/realms/<str:realm_id>/disconnect", control_views.disconnect, name="control-disconnect"),
    path("_control/realms/<str:realm_id>/webhooks", control_views.webhook_format, name="control-webhooks"),
    path("_control/webhooks/redeliver", control_views.redeliver, name="control-redeliver"),
    path(
        "_control/realms/<str:realm_id>/invoices/<str:invoice_id>/payment",
        control_views.invoice_payment,
        name="control-payment",
    ),
    path(
        "_control/realms/<str:realm_id>/invoices/<str:invoice_id>/<str:action>",
        control_views.invoice_action,
        name="control-invoice",
    ),
    # Accounting API v3
    re_path(r"^v3/company/(?P<realm_id>[^/]+)/(?P<rest>.*)$", api.dispatch, name="api"),
]
