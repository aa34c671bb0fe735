"""The confirmation pages of a wave's actions: schedule, unschedule, launch, pause, resume, abort (POST with
CSRF only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.numbers import grouped
from breachcomms.delivery.audiences import describe_audience, validate_audience
from breachcomms.delivery.forms import WaveActionForm
from breachcomms.delivery.models import Wave
from breachcomms.delivery.selectors import WavePlan, wave_plan
from breachcomms.delivery.services import (
    LaunchRefused,
    WaveStateError,
    wave_abort,
    wave_launch,
    wave_pause,
    wave_resume,
    wave_schedule,
    wave_unschedule,
)
from breachcomms.delivery.services.waves import LAUNCH_PERMISSION, START_NOT_IN_THE_FUTURE, schedule_plan

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

ACTIONS = ("schedule", "unschedule", "launch", "pause", "resume", "abort")
TITLES = {
    "schedule": _("Schedule the wave"),
    "unschedule": _("Unschedule the wave"),
    "launch": _("Launch the wave"),
    "pause": _("Pause the wave"),
    "resume": _("Resume the wave"),
    "abort": _("Abort the wave"),
}
EXPLANATIONS = {
    "schedule": _(
        "The wave launches by itself at its start time, as if you launched it then: its deliveries are created at "
        "that moment, so its audience is judged then. If a check fails by then (a notice withdrawn, for example), "
        "the wave pauses and says why."
    ),
    "unschedule": _(
        "The wave goes back to draft and does not launch by itself; you can change it and schedule it again."
    ),
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


RESUME_TO_LAUNCH = _(
    "The wave's scheduled launch was refused, so it has sent nothing yet. Resuming launches it now: a delivery is "
    "created for every customer shown in the plan."
)


def _perform(action: str, wave: Wave, user: Any, reason: str) -> str:
    if action == "schedule":
        wave_schedule(wave=wave, user=user)
        return gettext("The wave is scheduled; it launches by itself at its start time.")
    if action == "unschedule":
        wave_unschedule(wave=wave, user=user, reason=reason)
        return gettext("The wave is a draft again.")
    if action == "launch":
        launched = wave_launch(wave=wave, user=user)
        created = sum(c.get("created", 0) for c in launched.launch_summary.get("channels", {}).values())
        return ngettext(
            "The wave is running: %(count)s delivery created.",
            "The wave is running: %(count)s deliveries created.",
            created,
        ) % {"count": grouped(created)}
    if action == "pause":
        wave_pause(wave=wave, user=user, reason=reason)
        return gettext("The wave is paused.")
    if action == "resume":
        wave_resume(wave=wave, user=user)
        return gettext("The wave is running again.")
    cancelled = wave_abort(wave=wave, user=user, reason=reason)
    return ngettext(
        "The wave is aborted: %(count)s delivery cancelled.",
        "The wave is aborted: %(count)s deliveries cancelled.",
        cancelled,
    ) % {"count": grouped(cancelled)}


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
    never_launched = wave.status == Wave.Status.PAUSED and wave.launched_at is None
    plan, blocking = _plan(action, wave, never_launched=never_launched)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "wave": wave,
        "action": action,
        "title": TITLES[action],
        "explanation": RESUME_TO_LAUNCH if action == "resume" and never_launched else EXPLANATIONS[action],
        "form": form,
        "change_url": change_url,
        "audience_text": describe_audience(wave.audience) if wave.audience else "",
        "plan": plan,
        "blocking": blocking,
        # What refuses the action beyond the plan's own problems (which the plan shows).
        "extra_problems": [p for p in blocking if plan is None or p not in plan.problems],
    }
    return TemplateResponse(request, "admin/delivery/wave/confirm.html", context)


def _plan(action: str, wave: Wave, *, never_launched: bool) -> tuple[WavePlan | None, list[str]]:
    """The plan to confirm a launch (now or scheduled) against, and the problems that refuse it."""
    launching = action in ("launch", "schedule") and wave.status == Wave.Status.DRAFT
    if not launching and not (action == "resume" and never_launched):
        return None, []
    audience_problems = validate_audience(wave.audience, wave=wave) if wave.audience else []
    if audience_problems:
        return None, audience_problems  # no plan for an audience the system cannot read
    plan = wave_plan(wave=wave)
    if action != "schedule":
        return plan, plan.problems
    problems = schedule_plan(wave).problems if wave.audience else plan.problems
    if wave.start_at is None or wave.start_at <= timezone.now():
        problems = [str(START_NOT_IN_THE_FUTURE), *problems]
    return plan, problems
