// Reading a model document builds its parse tree, many times the text's size in many small
// allocations, and frees it once the model is compiled. glibc keeps freed heap memory mapped
// while anything allocated later (the compiled model) lies above it, so a backend's resident
// memory stayed at its peak for the rest of its life: about 1 GB after the first score() of a
// model of a million tree nodes, whose compiled form takes 30 MB (test/tap/031). Trimming
// after a large document gives the free pages back. Pure C++ (no Postgres headers).
#pragma once

#include <cstddef>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ai_scale::scoring {

// Documents shorter than this leave too little behind to be worth a trim (malloc_trim walks
// every free chunk).
constexpr size_t trim_after_document_bytes = size_t(1) << 20;

// Gives the heap's free pages back to the system when it goes out of scope, if the document
// read meanwhile was large: declared before the document's text and tree, so that it runs
// after they are freed, on the way out of an error too.
class trim_after_document {
  public:
    explicit trim_after_document(size_t bytes = 0) : bytes_(bytes) {}
    void set_bytes(size_t bytes) { bytes_ = bytes; }
    ~trim_after_document()
    {
#if defined(__GLIBC__)
        if (bytes_ >= trim_after_document_bytes)
            malloc_trim(0);
#endif
    }
    trim_after_document(const trim_after_document&) = delete;
    trim_after_document& operator=(const trim_after_document&) = delete;

  private:
    size_t bytes_;
};

} // namespace ai_scale::scoring
