#pragma once
// A generation request for a model that is not loaded yet: it asks the
// ModelSet to load the model, waits (without holding an IO thread) until
// the model is loaded, its load failed or the request's deadline passed,
// then goes on as the request would have on a loaded model (the
// continuation) and hands over to the job that produces.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/http_types.h"
#include "server/model_set.h"

namespace ig::server {

class ModelWaitJob : public AsyncJob {
  public:
    using Continue = std::function<Reply(std::shared_ptr<ServedModel>)>;
    // An error answer for the request (status, message, code), counted by
    // the caller like any refused request.
    using Fail = std::function<HttpResponse(int status, const std::string& message,
                                            const std::string& code)>;

    ModelWaitJob(std::shared_ptr<ModelSet> models, std::string name,
                 std::chrono::steady_clock::time_point deadline, Continue cont, Fail fail);
    ~ModelWaitJob() override;

    void start(std::function<void()> wake) override;
    JobOutput poll() override;
    void cancel() override;

  private:
    void stop_waiting();

    std::shared_ptr<ModelSet> models_;
    std::string name_;
    std::chrono::steady_clock::time_point deadline_;
    Continue cont_;
    Fail fail_;
    std::function<void()> wake_;
    uint64_t subscription_ = 0;
    std::shared_ptr<AsyncJob> inner_;  // once the model is loaded
    std::optional<HttpResponse> fail_pending_;
    bool done_ = false;
};

}  // namespace ig::server
