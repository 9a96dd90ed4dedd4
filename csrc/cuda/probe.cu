// Configure-time probe (CMakeLists.txt, try_compile): can nvcc build a cooperative-groups kernel
// with a grid-wide barrier for the chosen architectures? If not, FASTGD_CUDA=AUTO skips _cuda.
#include <cooperative_groups.h>

__global__ void probe(double* x) {
  cooperative_groups::this_grid().sync();
  x[threadIdx.x] += 1.0;
}

int main() { return 0; }
