"""The job page's details a new user hit: targets, convergence, transparency, names, re-run errors."""

import re

import numpy as np
import pytest
from django.urls import reverse

from compression.models import CompressionJob

from tests.helpers import encode_png, noise, stripes

pytestmark = pytest.mark.django_db


def page(client, job) -> str:
    response = client.get(reverse("job_detail", args=[job.id]))
    assert response.status_code == 200
    return response.content.decode()


def three_colours() -> bytes:
    return encode_png(stripes(24, 16, [(200, 30, 40), (20, 90, 200), (240, 240, 240)]))


# ----------------------------------------------------------------------------- targets


def test_a_missed_psnr_target_is_shown_with_the_best_reached(alice_client, alice, make_job):
    job = make_job(alice, image=encode_png(noise(48, 32)), n_colors=4, target_psnr=79)
    assert job.stats["target_met"] is False
    body = page(alice_client, job)
    expected = f"Target PSNR 79 dB <strong>not reached</strong>: best {job.psnr:.1f} dB at K = {job.n_colors_used}."
    assert expected in body


def test_a_met_psnr_target_says_so_with_the_k_it_took(alice_client, alice, make_job):
    job = make_job(alice, image=three_colours(), n_colors=16, target_psnr=30)
    assert job.stats["target_met"] is True
    body = page(alice_client, job)
    assert re.search(rf"Target PSNR 30 dB met: (identical|[\d.]+ dB) at K = {job.n_colors_used}\.", body)
    assert "not reached" not in body


def test_a_missed_ssim_target_is_shown(alice_client, alice, make_job):
    job = make_job(alice, image=encode_png(noise(48, 32)), n_colors=2, target_ssim=0.999)
    assert job.stats["target_met"] is False
    body = page(alice_client, job)
    assert f"Target SSIM 0.999 <strong>not reached</strong>: best {job.ssim:.4f} at K = {job.n_colors_used}." in body


# ----------------------------------------------------------------------------- convergence


def test_convergence_of_several_iterations_is_a_chart(alice_client, alice, make_job):
    job = make_job(alice, image=encode_png(noise(48, 32)), n_colors=4)
    assert job.n_iter > 1
    body = page(alice_client, job)
    assert '<path class="line"' in body
    assert f"in {job.n_iter} iterations." in body


def test_a_one_iteration_job_says_converged_without_a_one_point_chart(alice_client, alice, make_job):
    job = make_job(alice, n_colors=4)  # the smooth test photo settles at once
    assert job.n_iter == 1 and job.stats["converged"] is True
    body = page(alice_client, job)
    assert "Converged in 1 iteration" in body
    assert '<path class="line"' not in body and "fell from" not in body


# ----------------------------------------------------------------------------- transparency


def half_transparent() -> bytes:
    rgba = np.zeros((16, 24, 4), np.uint8)
    rgba[:8] = (255, 0, 0, 255)  # opaque red above, fully transparent below
    return encode_png(rgba)


def test_a_transparent_palette_entry_is_a_checkerboard_not_black(alice_client, alice, make_job):
    job = make_job(alice, image=half_transparent(), n_colors=4)
    assert sorted(entry["color"] for entry in job.stats["palette"]) == ["#00000000", "#ff0000ff"]
    swatches = re.findall(r'<li class="swatch">(.*?)</li>', page(alice_client, job), re.S)
    transparent = next(s for s in swatches if "#00000000" in s)
    opaque = next(s for s in swatches if "#ff0000ff" in s)
    assert 'fill="#000000"' not in transparent and 'fill="#c4c8d4"' in transparent
    assert "(transparent)" in transparent
    assert 'fill="#ff0000"' in opaque and 'fill="#c4c8d4"' not in opaque


def test_alpha_images_say_how_psnr_and_ssim_are_computed(alice_client, alice, make_job, alice_job):
    sentence = "the worse of the scores composited over black and over white"
    assert sentence in page(alice_client, make_job(alice, image=half_transparent(), n_colors=4))
    assert sentence not in page(alice_client, alice_job)  # no alpha, nothing to explain


# ----------------------------------------------------------------------------- labels and names


def test_one_label_for_the_perceptual_space(alice_client, alice_job, client):
    pages = [page(alice_client, alice_job), alice_client.get(reverse("dashboard")).content.decode(),
             client.get(reverse("landing")).content.decode(), alice_client.get("/api/schema/").content.decode()]
    assert all("OKLab" not in body for body in pages)
    assert all("Perceptual (Oklab)" in body for body in pages)


def test_download_names_carry_the_k_used_not_the_k_requested(alice_client, alice, make_job):
    job = make_job(alice, image=three_colours(), name="kodim01.png", n_colors=16, output_format="gif")
    assert job.n_colors_used == 3
    download = alice_client.get(reverse("job_download", args=[job.id]))
    assert 'filename="kodim01-k3.gif"' in download["Content-Disposition"]
    thumbnail = alice_client.get(reverse("job_thumbnail", args=[job.id]))
    assert 'filename="kodim01-k3-thumbnail.webp"' in thumbnail["Content-Disposition"]
    api = alice_client.get(reverse("api:job-download", args=[job.id]))
    assert 'filename="kodim01-k3-' in api["Content-Disposition"]


# ----------------------------------------------------------------------------- re-run errors


def test_rerun_errors_without_js_sit_beside_their_field_with_the_typed_values(alice_client, alice_job):
    response = alice_client.post(
        reverse("job_rerun", args=[alice_job.id]),
        {"n_colors": "300", "color_space": "oklab", "dither": "20", "output_format": "gif", "width": "64"},
    )
    assert response.status_code == 400
    assert CompressionJob.objects.count() == 1
    body = response.content.decode()
    rerun = body[body.index('id="rerun"'):]
    k_field = re.search(r'<div class="field"><label for="rerun_n_colors">Colours \(K\)</label>(.*?)</div>', rerun, re.S)
    assert k_field, "the K field is missing"
    assert 'value="300"' in k_field.group(1)
    assert re.search(r'class="field-error" id="rerun_n_colors_error"[^>]*>Colours \(K\): .*256', k_field.group(1))
    assert re.search(r'<option value="oklab" selected>', rerun) and re.search(r'<option value="gif" selected>', rerun)
    assert re.search(r'id="rerun_dither"[^>]*value="20"|value="20"[^>]*id="rerun_dither"', rerun)
    assert re.search(r'id="rerun_width"[^>]*value="64"|value="64"[^>]*id="rerun_width"', rerun)
    assert "alert--error" not in body[:body.index('id="rerun"')]  # nothing at the top of the page


def test_rerun_refusal_about_a_field_is_shown_beside_it(alice_client, alice, make_job):
    # Within the form's bounds, refused by the engine for this job: upscaled, the output is too large.
    job = make_job(alice, n_colors=4, allow_upscale=True)
    response = alice_client.post(
        reverse("job_rerun", args=[job.id]),
        {"n_colors": "4", "resize_mode": "stretch", "width": "20000", "height": "20000"},
    )
    assert response.status_code == 400
    assert CompressionJob.objects.count() == 1
    body = response.content.decode()
    assert re.search(r'class="field-error" id="rerun_width_error"[^>]*>Width: This geometry needs', body)


def test_rerun_errors_as_json_name_the_field(alice_client, alice_job):
    response = alice_client.post(
        reverse("job_rerun", args=[alice_job.id]), {"n_colors": "300"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    data = response.json()
    assert data["error"].startswith("Colours (K): ")
    assert list(data["fields"]) == ["n_colors"]
