// load_tokenizer_from_gguf (the model::GgufFile adapter) gives the same tokenizer as the test
// reader path, and HF's ids. Built only when the GGUF loader library is in the build.
#include <gtest/gtest.h>

#include "tests/support/test_paths.h"
#include "tests/unit/tokenizer/tokenizer_test_data.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::text::testing {
namespace {

TEST(GgufLoader, AdapterMatchesOracle) {
  for (std::string path : {tandem::testing::default_model_path(), tokenizer_data_dir() + "/spm/spm.gguf"}) {
    auto f = model::GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    auto a = load_tokenizer_from_gguf(**f);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    auto d = read_gguf_tokenizer(path);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    auto b = must_load_gguf(*d);
    EXPECT_EQ((*a)->vocab_size(), b->vocab_size());
    EXPECT_EQ((*a)->chat_template(), b->chat_template());
    EXPECT_EQ((*a)->add_bos(), b->add_bos());
    for (const auto& c : load_oracle(path.ends_with("spm.gguf") ? "spm_legacy" : "smollm2")) {
      ASSERT_EQ((*a)->encode(c.text, true), c.ids_special) << c.name;
    }
  }
}

}  // namespace
}  // namespace tandem::text::testing
