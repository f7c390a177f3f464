// SPDX-License-Identifier: Apache-2.0
/*
 * cpp_target: probed functions with C++ (mangled) names.
 *
 *   cpp_target [--count N] [--go FILE] [--dump]
 *
 * Calls, N times each, in this order per iteration i:
 *   sealtrace_test::Model::predict(const std::string &in)   in = "predict-<i>"
 *   sealtrace_test::score(const char *data, std::size_t len) data = "score-<i>"
 * --dump prints "in i=<i> len=<n> hex=<bytes>" for each score() call only.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "st_target.h"

namespace sealtrace_test {

class Model {
public:
	int predict(const std::string &in);

private:
	std::uint64_t calls_ = 0;
};

int score(const char *data, std::size_t len);

volatile std::uint64_t sink;

/* this in %rdi, &in in %rsi: bytes at +0(%si), length at +8(%si). */
ST_PROBED int Model::predict(const std::string &in)
{
	ST_BARRIER();
	calls_++;
	return static_cast<int>((in.size() + calls_) & 0xff);
}

ST_PROBED int score(const char *data, std::size_t len)
{
	std::uint32_t h = 2166136261u;

	ST_BARRIER();
	for (std::size_t k = 0; k < len; k++)
		h = (h ^ static_cast<unsigned char>(data[k])) * 16777619u;
	sink += h;
	return static_cast<int>(h % 1000);
}

} // namespace sealtrace_test

int main(int argc, char **argv)
{
	std::uint64_t count = 1000;
	const char *go = nullptr;
	bool dump = false;

	for (int k = 1; k < argc; k++) {
		if (!std::strcmp(argv[k], "--dump")) {
			dump = true;
		} else if (k + 1 < argc && !std::strcmp(argv[k], "--count")) {
			count = st_parse_u64(argv[k], argv[k + 1]);
			k++;
		} else if (k + 1 < argc && !std::strcmp(argv[k], "--go")) {
			go = argv[++k];
		} else {
			std::fprintf(stderr, "usage: cpp_target [--count N] [--go FILE] [--dump]\n");
			return 2;
		}
	}

	sealtrace_test::Model model;
	st_ready_and_wait(go);
	for (std::uint64_t i = 0; i < count; i++) {
		std::string in = "predict-" + std::to_string(i);
		std::string data = "score-" + std::to_string(i);

		sealtrace_test::sink += model.predict(in);
		sealtrace_test::sink += sealtrace_test::score(data.data(), data.size());
		if (dump) {
			std::printf("in i=%llu len=%zu hex=", (unsigned long long)i, data.size());
			st_hex(stdout, reinterpret_cast<const unsigned char *>(data.data()),
			       data.size());
			std::putchar('\n');
		}
	}
	std::printf("done calls=%llu\n", (unsigned long long)count);
	return 0;
}
