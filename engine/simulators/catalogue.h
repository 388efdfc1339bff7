#pragma once
// The built-in simulators: the ten sbibm benchmark tasks and the gw_chirp teaching task.
// The catalogue is plain data that the GUI lists and the project files refer to by id.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "priors/prior_spec.h"
#include "simulators/simulator.h"

namespace sbiw {

enum class DataKind {
    Vector,      // a vector of summary statistics (plot as points / bars)
    TimeSeries,  // an ordered series (plot as a line), e.g. gw_chirp's strain
};

struct ReferenceObservation {
    int number = 0;                       // sbibm / gw_chirp observation number (1..5)
    std::vector<double> data;             // x_o
    std::vector<double> trueParameters;   // θ* that generated it
};

struct TaskInfo {
    std::string id;           // "two_moons"; the project file's simulator.task
    std::string title;        // "Two Moons"
    std::string description;  // a paragraph for the GUI
    std::string source;       // where the specification comes from
    std::vector<std::string> parameterNames;
    int dataDimension = 0;
    DataKind dataKind = DataKind::Vector;
    // Prior blocks in parameter order (see JointPrior).
    std::vector<PriorSpec> defaultPrior;
    // Observations 1..5 with their true parameters (from sbibm / gw_chirp reference data).
    std::vector<ReferenceObservation> referenceObservations;
    std::function<std::unique_ptr<Simulator>()> create;

    int parameterDimension() const { return static_cast<int>(parameterNames.size()); }
};

const std::vector<TaskInfo>& builtinTasks();
const TaskInfo* findTask(const std::string& id);  // nullptr when unknown

}  // namespace sbiw
