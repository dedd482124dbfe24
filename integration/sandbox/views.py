from django.shortcuts import render


def index(request):
    """What the sandboxes simulate, with links for the demo."""
    return render(request, "sandbox/index.html")
