// The global functions a chat template can call: Jinja's range(), namespace() and dict(), and
// the two Hugging Face adds, raise_exception(msg) and strftime_now(format).
// Thread model: the returned functions belong to one render (they write *raised_flag).
#pragma once

#include <ctime>
#include <vector>

#include "gateway/text/template/limits.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

// `now` is what strftime_now() formats; raise_exception() sets *raised_flag before failing so
// the caller can report the template's own message as such; namespace() appends every namespace
// it creates to *namespaces, so the render can break reference cycles between them when it ends.
Dict builtin_globals(const RenderLimits& limits, const std::tm& now, bool* raised_flag,
                     std::vector<Value>* namespaces);

// Python's datetime.strftime for a naive datetime (%f is 000000; %z and %Z are empty).
std::string py_strftime(const std::string& format, const std::tm& time);

}  // namespace tandem::text::jinja
