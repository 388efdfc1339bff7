#pragma once
// Asking the user before a project's foreign code (an external program or a native plugin) runs
// for the first time: the exact command or library is shown, and the answer is remembered for
// exactly that code (TrustStore). Built-ins, scripts (sandboxed) and imported data never ask.

#include <QString>

class QWidget;

namespace sbiw {
struct Project;
}

namespace sbiw::gui {

// True when the project's simulator may run: it runs no foreign code, it was trusted before,
// or the user trusts it now. Otherwise false, with the reason in `why` (declined, missing file).
bool ensureTrusted(QWidget* parent, const Project& project, QString* why = nullptr);

}  // namespace sbiw::gui
