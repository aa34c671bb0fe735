"""Forms of the delivery admin: planning a wave, confirming an action on it, suppressing an address."""

from __future__ import annotations

from itertools import product
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.numbers import grouped
from breachcomms.delivery import audiences
from breachcomms.delivery.models import Channel, Suppression, Wave
from breachcomms.delivery.services.waves import normalized_address
from breachcomms.incidents.risk import RiskTier
from breachcomms.notices.models import Campaign
from breachcomms.recipients.contacts import InvalidValue
from breachcomms.recipients.models import Enrolment
from breachcomms.recipients.selectors import segment_list


class WaveForm(forms.ModelForm):
    """A wave's settings; its customers are chosen by region, language and risk tier (none = all), and for a
    follow-up by what happened to an earlier campaign's notices (the audience)."""

    regions = forms.MultipleChoiceField(
        label=_("regions"), required=False, widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: all.")
    )
    languages = forms.MultipleChoiceField(
        label=_("languages"), required=False, widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: all.")
    )
    risk_tiers = forms.MultipleChoiceField(
        label=_("risk tiers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=RiskTier.choices,
        help_text=_("None ticked: all. A first wave often takes the high-risk customers only."),
    )
    audience_kind = forms.ChoiceField(
        label=_("audience"),
        required=False,
        choices=[("", _("Everyone in the chosen segments")), *audiences.KIND_LABELS.items()],
        help_text=_(
            "For a follow-up: who, by what happened to an earlier campaign. It is judged when the wave launches."
        ),
    )
    audience_campaign = forms.ModelChoiceField(
        label=_("earlier campaign"),
        required=False,
        queryset=Campaign.objects.none(),
        help_text=_("The campaign whose notices the audience looks at."),
    )
    audience_channel = forms.ChoiceField(
        label=_("channel not reached"),
        required=False,
        choices=[("", "---------"), *Channel.choices],
        help_text=_(
            "For “use the other”: the channel whose notice could not be delivered. The wave uses the other one."
        ),
    )
    audience_program = forms.ChoiceField(
        label=_("programme"),
        required=False,
        choices=[("", "---------"), *Enrolment.Program.choices],
        help_text=_("For “not enrolled”: the programme the customers have not enrolled in."),
    )

    class Meta:
        model = Wave
        fields = [
            "campaign",
            "name",
            "channel_plan",
            "fallback_locale",
            "start_at",
            "email_per_minute",
            "sms_segments_per_second",
            "window_start",
            "window_end",
            "region_cap_per_hour",
            "halt_window",
            "max_hard_bounce_rate",
            "max_failure_rate",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign = self.instance.campaign if self.instance.campaign_id else None
        if campaign is None and self.initial.get("campaign"):
            campaign = self.fields["campaign"].queryset.filter(pk=self.initial["campaign"]).first()  # type: ignore[attr-defined]
        segments = segment_list(incident=campaign.incident) if campaign is not None else []
        counts: dict[str, dict[str, int]] = {"regions": {}, "languages": {}}
        for segment in segments:
            counts["regions"][segment.country] = counts["regions"].get(segment.country, 0) + segment.customers
            counts["languages"][segment.language] = counts["languages"].get(segment.language, 0) + segment.customers
        for name, by_value in counts.items():
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = [
                (value, f"{value or gettext('unknown')} ({grouped(n)})") for value, n in sorted(by_value.items())
            ]
        chosen: dict[str, set[str]] = {"region": set(), "language": set(), "risk": set()}
        for segment in self.instance.segments or []:
            for key in chosen:
                if segment.get(key):
                    chosen[key].add(segment[key])
        self.initial.setdefault("regions", sorted(chosen["region"]))
        self.initial.setdefault("languages", sorted(chosen["language"]))
        self.initial.setdefault("risk_tiers", sorted(chosen["risk"]))
        self._init_audience(campaign)

    def _init_audience(self, campaign: Campaign | None) -> None:
        field = self.fields["audience_campaign"]
        assert isinstance(field, forms.ModelChoiceField)
        if campaign is not None:
            field.queryset = Campaign.objects.filter(incident_id=campaign.incident_id).exclude(pk=campaign.pk)
        else:
            field.queryset = Campaign.objects.all()
        audience = self.instance.audience if isinstance(self.instance.audience, dict) else {}
        for key, name in (
            ("kind", "audience_kind"),
            ("campaign", "audience_campaign"),
            ("channel", "audience_channel"),
        ):
            self.initial.setdefault(name, audience.get(key, ""))
        self.initial.setdefault("audience_program", audience.get("program", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start is not None and end is not None and start != end:
            hours = ((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)) % (24 * 60) / 60
            if hours < 1:
                self.add_error("window_end", gettext("The sending window must be open at least an hour a day."))
        self._clean_audience(cleaned)
        return cleaned

    def _clean_audience(self, cleaned: dict[str, Any]) -> None:
        """Build the audience from its fields; each missing or contradicting choice is an error on its field."""
        kind = cleaned.get("audience_kind") or ""
        audience: dict[str, Any] = {"kind": kind} if kind else {}
        if kind in audiences.CAMPAIGN_KINDS:
            earlier = cleaned.get("audience_campaign")
            if earlier is None:
                self.add_error("audience_campaign", gettext("Choose the earlier campaign the audience looks at."))
                return
            audience["campaign"] = earlier.pk
        if kind == audiences.OTHER_CHANNEL:
            channel = cleaned.get("audience_channel")
            if not channel:
                self.add_error("audience_channel", gettext("Choose the channel whose notice could not be delivered."))
                return
            audience["channel"] = channel
            if cleaned.get("channel_plan") != audiences.OTHER_PLAN[channel]:
                self.add_error("channel_plan", audiences.other_channel_plan_problem(channel))
                return
        if kind == audiences.NOT_ENROLLED:
            if not cleaned.get("audience_program"):
                self.add_error("audience_program", gettext("Choose the programme."))
                return
            audience["program"] = cleaned["audience_program"]
        campaign = cleaned.get("campaign")
        if campaign is not None and audience:
            probe = Wave(campaign=campaign, channel_plan=cleaned.get("channel_plan") or "")
            for problem in audiences.validate_audience(audience, wave=probe):
                self.add_error("audience_kind", problem)
        self.instance.audience = audience

    def save(self, commit: bool = True) -> Wave:
        dimensions: list[list[tuple[str, str] | None]] = []
        for key, field in (("region", "regions"), ("language", "languages"), ("risk", "risk_tiers")):
            chosen: list[tuple[str, str] | None] = [(key, value) for value in self.cleaned_data.get(field) or []]
            dimensions.append(chosen or [None])
        segments = [dict(pair for pair in combo if pair is not None) for combo in product(*dimensions)]
        self.instance.segments = [] if segments == [{}] else segments
        return super().save(commit=commit)


class WaveActionForm(forms.Form):
    """Confirms a launch, pause, resume or abort; pause and abort take a reason."""

    reason = forms.CharField(label=_("reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, reason_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


class SuppressionForm(forms.ModelForm):
    """Suppress an address by hand; it is stored normalized (lower-case email, E.164 phone)."""

    class Meta:
        model = Suppression
        fields = ["incident", "channel", "address", "reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        channel, address = cleaned.get("channel"), cleaned.get("address")
        if channel in Channel.values and address:
            try:
                cleaned["address"] = normalized_address(channel, address)
            except InvalidValue as exc:
                self.add_error("address", str(exc))
        return cleaned
