// 2-D and 3-D grids and blocks: every thread must see its own indices and the launch's dims.
#include <vector>

#include "harness.h"
#include "params.h"

namespace selftest {
namespace {

unsigned pack(unsigned x, unsigned y, unsigned z) { return x | (y << 11) | (z << 22); }

void check_shape(Dims grid, Dims block) {
    const unsigned width = grid.x * block.x, height = grid.y * block.y, depth = grid.z * block.z;
    std::vector<unsigned> output(static_cast<std::size_t>(width) * height * depth * 4, 0xffffffffu);
    IndicesParams p{output.data()};
    if (!run("selftest_indices", grid, block, 0, p)) return;
    int wrong = 0;
    for (unsigned z = 0; z < depth; ++z)
        for (unsigned y = 0; y < height; ++y)
            for (unsigned x = 0; x < width; ++x) {
                const unsigned* o = &output[((static_cast<std::size_t>(z) * height + y) * width + x) * 4];
                wrong += o[0] != pack(x % block.x, y % block.y, z % block.z);
                wrong += o[1] != pack(x / block.x, y / block.y, z / block.z);
                wrong += o[2] != pack(block.x, block.y, block.z);
                wrong += o[3] != pack(grid.x, grid.y, grid.z);
            }
    expect(wrong == 0, "selftest_indices grid (" + std::to_string(grid.x) + "," + std::to_string(grid.y) + "," +
                           std::to_string(grid.z) + "): " + std::to_string(wrong) + " wrong words");
}

}  // namespace

void test_indices() {
    mixkv_emu_set_schedule(11, 1);
    check_shape(Dims{7, 3, 1}, Dims{16, 16, 1});
    check_shape(Dims{3, 5, 2}, Dims{8, 4, 2});
    check_shape(Dims{1, 1, 1}, Dims{1, 1, 1});
    mixkv_emu_set_schedule(0, 0);
}

}  // namespace selftest
