from django.http import HttpRequest


def organization(request: HttpRequest) -> dict[str, object]:
    return {"organization": getattr(request, "organization", None)}
