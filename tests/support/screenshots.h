#pragma once
// Pictures of widgets for docs/screenshots, taken by the widget and GUI tests when asked to.
// Header-only: the suites that use it link Qt Widgets, the shared support library does not.

#include <QDir>
#include <QString>
#include <QTest>
#include <QWidget>

namespace sbiw::test {

// Saves widget.grab() under $SBIW_SCREENSHOT_DIR when that is set (for docs/screenshots);
// tests never write into the source tree on their own.
inline void saveScreenshot(QWidget& widget, const QString& name) {
    const QString folder = qEnvironmentVariable("SBIW_SCREENSHOT_DIR");
    if (folder.isEmpty())
        return;
    QDir().mkpath(folder);
    QVERIFY(widget.grab().save(QDir(folder).filePath(name)));
}

}  // namespace sbiw::test
