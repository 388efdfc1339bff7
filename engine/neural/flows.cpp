// The flow composite: transforms onto a standard normal base.

#include "neural/flows.h"

#include <cmath>
#include <stdexcept>

#include "neural/flow_internal.h"

namespace sbiw::neural {

namespace {

const double kLog2Pi = std::log(2.0 * 3.14159265358979323846);

class FlowImpl : public ConditionalDensityImpl {
public:
    FlowImpl(std::vector<Transform> transforms, int features)
        : transforms_(std::move(transforms)), features_(features) {
        if (features < 1)
            throw std::invalid_argument("flow: invalid number of features");
        list_ = register_module("transforms", torch::nn::ModuleList());
        for (const auto& t : transforms_) {
            if (!t)
                throw std::invalid_argument("flow: null transform");
            list_->push_back(t);
        }
    }

    torch::Tensor logProb(const torch::Tensor& inputs, const torch::Tensor& context) override {
        TORCH_CHECK(inputs.dim() == 2 && inputs.size(1) == features_, "flow: inputs must be [N, ",
                    features_, "]");
        auto z = inputs;
        auto logDet = torch::zeros({inputs.size(0)}, inputs.options());
        for (const auto& t : transforms_) {
            auto [next, ld] = t->forward(z, context);
            z = next;
            logDet = logDet + ld;
        }
        return -0.5 * z.pow(2).sum(-1) - 0.5 * features_ * kLog2Pi + logDet;
    }

    torch::Tensor sample(std::int64_t count, const torch::Tensor& context) override {
        TORCH_CHECK(count >= 0, "flow: negative sample count");
        torch::Tensor ctx;
        auto opts = moduleOptions(*this);
        if (context.defined()) {
            TORCH_CHECK(context.dim() == 2 && (context.size(0) == 1 || context.size(0) == count),
                        "flow: sample() takes one context row [1, C]");
            ctx = context.size(0) == count ? context : context.expand({count, context.size(1)});
            opts = context.options();
        }
        auto x = torch::randn({count, features_}, opts);
        for (auto it = transforms_.rbegin(); it != transforms_.rend(); ++it)
            x = (*it)->inverse(x, ctx).first;
        return x;
    }

private:
    std::vector<Transform> transforms_;
    int features_;
    torch::nn::ModuleList list_{nullptr};
};

}  // namespace

ConditionalDensity makeFlow(std::vector<Transform> transforms, int features) {
    return std::make_shared<FlowImpl>(std::move(transforms), features);
}

}  // namespace sbiw::neural
