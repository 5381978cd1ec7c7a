// Sequence filters (first, join, map, select, sort, ...), split from filters.cc to keep files
// small. Internal to the template library; templates reach them through apply_filter().
// Thread-safe: pure functions.
#pragma once

#include "common/status.h"
#include "gateway/text/template/limits.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja::sequence_filters {

using Fn = StatusOr<Value> (*)(const Value& input, const CallArgs& args, const RenderLimits& limits);

StatusOr<Value> first(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> last(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> length(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> list(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> items(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> join(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> map(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> select(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> reject(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> selectattr(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> rejectattr(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> sort(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> unique(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> min(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> max(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> sum(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> reverse(const Value& input, const CallArgs& args, const RenderLimits& limits);
StatusOr<Value> dictsort(const Value& input, const CallArgs& args, const RenderLimits& limits);

}  // namespace tandem::text::jinja::sequence_filters
