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
