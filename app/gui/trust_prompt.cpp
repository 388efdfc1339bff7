#include "gui/trust_prompt.h"

#include <QAbstractButton>
#include <QMessageBox>

#include "project/project.h"
#include "qt/trust_store.h"

namespace sbiw::gui {

bool ensureTrusted(QWidget* parent, const Project& project, QString* why) {
    const ForeignCode code = foreignCode(project);
    if (!code.runsCode)
        return true;
    TrustStore store;
    if (store.isTrusted(code))
        return true;
    if (!code.missingFile.isEmpty()) {
        if (why)
            *why = QObject::tr("%1 does not exist").arg(code.missingFile);
        return false;
    }
    QMessageBox box(
        QMessageBox::Warning, QObject::tr("Run code from this project?"),
        QObject::tr(
            "This project %1.\n\nA project file can come from anyone: run it only if you trust "
            "where it came from. Your answer is remembered for exactly this %2; if it changes, "
            "you will be asked again.")
            .arg(code.summary(),
                 code.kind == "plugin" ? QObject::tr("library") : QObject::tr("program")),
        QMessageBox::Yes | QMessageBox::No, parent);
    box.setDetailedText(code.description);
    box.button(QMessageBox::Yes)->setText(QObject::tr("Trust and run"));
    box.setDefaultButton(QMessageBox::No);
    if (box.exec() != QMessageBox::Yes) {
        if (why)
            *why = QObject::tr("not trusted: %1").arg(code.summary());
        return false;
    }
    if (const QString error = store.trust(code); !error.isEmpty()) {
        if (why)
            *why = error;
        return false;
    }
    return true;
}

}  // namespace sbiw::gui
