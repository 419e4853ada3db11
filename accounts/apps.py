from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core.middleware import session_mark_fresh

        # Every way of signing in (password, one-time link, set-password link, admin) goes through
        # django.contrib.auth.login, which sends this: the new session starts its idle clock there.
        user_logged_in.connect(session_mark_fresh, dispatch_uid="crowdact-session-fresh")
