"""The short dialog for a unit nobody has seen before: its name, family and vehicle."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from drivers.base import PortInfo

FAMILIES = (("MTK data logger (Holux, Qstarz, i-Blue…)", "mtk"), ("NMEA logger (plays its log back)", "nmea"))


class RegisterUnitDialog(QDialog):
    """Asks for a name, a unit family and a vehicle for a unit plugged in that no one has registered, so it
    is recognised next time; `values` gives them once accepted.

    Args:
        port: the port it is on, with the USB details that tell units apart.
        identity: what the unit said about itself, if it answered.
        family: the family to preselect (the dock's guess).
        names: the names units already have (a new name must differ, whatever its case).
        vehicles: the vehicles it may ride in.
    """

    def __init__(self, port: PortInfo, identity: str | None, family: str, names: list[str], vehicles: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New GPS unit")
        self.names = {n.casefold() for n in names}
        form = QFormLayout(self)
        usb = f"USB {port.vid_pid}" if port.vid_pid else "no USB details"
        if port.serial_number:
            usb += f", serial number {port.serial_number}"
        about = QLabel(f"A unit Fleet Desk does not know is plugged in on <b>{port.device}</b> ({usb})."
                       + (f"<br>It says: {identity}." if identity else "")
                       + "<br>Register it once; next time it is recognised.", self)
        about.setWordWrap(True)
        form.addRow(about)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("e.g. logger-van-3")
        form.addRow("Name:", self.name)
        self.family = QComboBox(self)
        for label, value in FAMILIES:
            self.family.addItem(label, value)
        self.family.setCurrentIndex(max(0, self.family.findData(family)))
        form.addRow("Unit family:", self.family)
        self.vehicle = QComboBox(self, editable=True)
        self.vehicle.addItems([""] + vehicles)
        self.vehicle.lineEdit().setPlaceholderText("the vehicle it rides in")
        form.addRow("Vehicle:", self.vehicle)
        self.problem = QLabel("", self)
        self.problem.setStyleSheet("color: #b00020;")
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Register")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Not now")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.problem.setText("Give the unit a name.")
            return
        if name.casefold() in self.names:
            self.problem.setText(f"A unit called {name} exists already; choose another name.")
            return
        self.accept()

    def values(self) -> tuple[str, str, str | None]:
        return self.name.text().strip(), self.family.currentData(), self.vehicle.currentText().strip() or None
