"""The confirmation pages of a wave's actions: launch, pause, resume, abort (POST with CSRF only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.forms import WaveActionForm
from breachcomms.delivery.models import Wave
from breachcomms.delivery.selectors import wave_plan
from breachcomms.delivery.services import (
    LaunchRefused,
    WaveStateError,
    wave_abort,
    wave_launch,
    wave_pause,
    wave_resume,
)
from breachcomms.delivery.services.waves import LAUNCH_PERMISSION

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

ACTIONS = ("launch", "pause", "resume", "abort")
TITLES = {
    "launch": _("Launch the wave"),
    "pause": _("Pause the wave"),
    "resume": _("Resume the wave"),
    "abort": _("Abort the wave"),
}
EXPLANATIONS = {
    "launch": _(
        "Creates a delivery for every customer shown in the plan; sending starts at the wave's start time, in each "
        "customer's sending window, at the wave's rates."
    ),
    "pause": _("No new batch is handed to the providers from now on; batches already being sent finish."),
    "resume": _("Sending continues where it stopped. Nobody who already got the notice gets it again."),
    "abort": _(
        "Every delivery not yet handed to a provider is cancelled with your reason. This cannot be undone; a new "
        "wave of the same campaign would reach only the customers who did not get the notice."
    ),
}


def _perform(action: str, wave: Wave, user: Any, reason: str) -> str:
    if action == "launch":
        launched = wave_launch(wave=wave, user=user)
        created = sum(c.get("created", 0) for c in launched.launch_summary.get("channels", {}).values())
        return gettext("The wave is running: %(count)s deliveries created.") % {"count": f"{created:,}"}
    if action == "pause":
        wave_pause(wave=wave, user=user, reason=reason)
        return gettext("The wave is paused.")
    if action == "resume":
        wave_resume(wave=wave, user=user)
        return gettext("The wave is running again.")
    cancelled = wave_abort(wave=wave, user=user, reason=reason)
    return gettext("The wave is aborted: %(count)s deliveries cancelled.") % {"count": f"{cancelled:,}"}


def wave_action(request: HttpRequest, *, model_admin: ModelAdmin, object_id: int, action: str) -> HttpResponse:
    wave = get_object_or_404(Wave.objects.select_related("campaign__incident"), pk=object_id)
    if not request.user.has_perm(LAUNCH_PERMISSION):
        raise PermissionDenied
    form = WaveActionForm(request.POST or None, reason_required=action == "abort")
    change_url = reverse("admin:delivery_wave_change", args=[wave.pk])
    if request.method == "POST" and form.is_valid():
        try:
            message = _perform(action, wave, request.user, form.cleaned_data["reason"])
        except LaunchRefused as refused:
            for problem in refused.problems:
                messages.error(request, problem)
        except WaveStateError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, message)
            return HttpResponseRedirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "wave": wave,
        "action": action,
        "title": TITLES[action],
        "explanation": EXPLANATIONS[action],
        "form": form,
        "change_url": change_url,
        "plan": wave_plan(wave=wave) if action == "launch" and wave.status == Wave.Status.DRAFT else None,
    }
    return TemplateResponse(request, "admin/delivery/wave/confirm.html", context)
