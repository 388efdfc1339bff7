#include "simulators/tasks/sampling.h"

namespace sbiw::tasks {

const HalfCircleTables& halfCircleTables() {
    static const HalfCircleTables tables = [] {
        constexpr double kPi = 3.14159265358979323846;
        HalfCircleTables t{};
        for (int i = 0; i < HalfCircleTables::kBins; ++i) {
            const double centre = -kPi / 2 + kPi * (i + 0.5) / HalfCircleTables::kBins;
            t.cosCentre[i] = std::cos(centre);
            t.sinCentre[i] = std::sin(centre);
        }
        return t;
    }();
    return tables;
}

}  // namespace sbiw::tasks
