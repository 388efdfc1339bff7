#pragma once

namespace sbiw::gui {

// sbiw [PROJECT] | sbiw --demo PROJECT [--screenshots DIR] [--quit-when-done]
// Without a display (no DISPLAY / WAYLAND_DISPLAY and no QT_QPA_PLATFORM) the demo runs on the
// offscreen platform.
int runApplication(int argc, char** argv);

}  // namespace sbiw::gui
