"""Every action_id, block_id and callback_id the renderers and listeners share, as enums."""

from enum import StrEnum

SLASH_COMMAND = "/incident"


class ActionId(StrEnum):
    """Buttons; each one has a registered listener (tests check it)."""

    ACKNOWLEDGE = "incident_acknowledge"
    RESOLVE = "incident_resolve"
    REOPEN = "incident_reopen"
    ASSIGN_ME = "incident_assign_me"
    LIST_PAGE = "incident_list_page"

    @property
    def metric_label(self) -> str:
        return "btn_" + self.value.removeprefix("incident_")


# What each incident button does, as the /incident command it stands for (the listeners and
# the console both run exactly this).
BUTTON_COMMANDS: dict[str, str] = {
    ActionId.ACKNOWLEDGE: "ack {}",
    ActionId.RESOLVE: "resolve {}",
    ActionId.REOPEN: "reopen {}",
    ActionId.ASSIGN_ME: "assign {} me",
}


class BlockId(StrEnum):
    INCIDENT_ACTIONS = "incident_actions"
    LIST_ACTIONS = "list_actions"
    TITLE = "title"
    SEVERITY = "severity"
    DESCRIPTION = "description"


class InputId(StrEnum):
    """Input elements inside the modal; read from view.state, they dispatch no actions."""

    TITLE = "title_input"
    SEVERITY = "severity_select"
    DESCRIPTION = "description_input"


class CallbackId(StrEnum):
    OPEN_INCIDENT = "incident_open_modal"

    @property
    def metric_label(self) -> str:
        return "modal_open"
