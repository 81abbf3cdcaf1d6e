"""The web console at /console/ and its read-only API at /api/v1/ (`bridgekeeper serve`).

    routes.py    add_console(): what is served, and the one log line when it is off
    context.py   what every handler shares: settings, cookies, sign-in, the reader, pages
    sessions.py  the signed session cookie and the sign-in cookie (state, nonce)
    oidc.py      Sign in with Slack (OpenID Connect)
    auth.py      sign in, the callback, sign out (a POST with its CSRF token)
    views.py     the incidents list and an incident's page (messages/console/)
    dashboard.py the dashboard's charts and tables, and their numbers as CSV
    api.py       /api/v1/ JSON, described by openapi.json
    query.py     the list's filters and paging, read from a query string

Every incident read goes through services/incident_views.py, and so through the one access
check: a private incident is a 404, the same as a number that does not exist.
"""

from bridgekeeper.console.routes import add_console

__all__ = ["add_console"]
