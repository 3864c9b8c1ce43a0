"""/favicon.ico answers: the admin's and DRF's pages name no icon, so browsers ask for it there.

(The browser test in tests/browser/test_csp_other_pages.py fetches it through the static files.)
"""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from PIL import Image

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302  # not permanent: the static name may carry a content hash
    assert response["Location"] == static("img/favicon.ico")
    with Image.open(finders.find("img/favicon.ico")) as icon:
        assert icon.format == "ICO" and {(16, 16), (32, 32)} <= set(icon.info["sizes"])
