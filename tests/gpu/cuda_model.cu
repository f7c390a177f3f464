// SPDX-License-Identifier: Apache-2.0
/*
 * A CUDA "model server" for the GPU end-to-end test: predict() runs a
 * small dense layer (y = tanh(W x + b)) on the GPU for each request. The
 * agent probes predict(), an ordinary host function, exactly as it probes
 * llama_decode in a CUDA build of llama.cpp: the uprobe sees the call on
 * the CPU side, whatever the kernel launches do on the device.
 *
 *   cuda_model --count N [--go FILE]
 *
 * Request i has n_i = 1 + i % 256 floats, x[j] = (i * 131 + j) % 1000, whole
 * numbers, exact in float32 (tests/gpu/check.py reproduces the bytes). Prints "ready pid=<pid>", waits for
 * FILE, makes N calls, prints "done calls=N device=<name>".
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <cuda_runtime.h>

#define DIM 256

static float *d_w, *d_b, *d_x, *d_y;

__global__ void dense_tanh(const float *w, const float *b, const float *x, int n, float *y)
{
	int row = blockIdx.x * blockDim.x + threadIdx.x;
	float acc;

	if (row >= DIM)
		return;
	acc = b[row];
	for (int j = 0; j < n; j++)
		acc += w[row * DIM + j] * x[j] * 0.001f;
	y[row] = tanhf(acc);
}

static void check(cudaError_t e, const char *what)
{
	if (e != cudaSuccess) {
		fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
		exit(1);
	}
}

/* The probed inference boundary: input x[0..n), output y[0..DIM). */
extern "C" __attribute__((noinline, used)) int predict(const float *x, int n, float *y)
{
	check(cudaMemcpy(d_x, x, (size_t)n * sizeof(float), cudaMemcpyHostToDevice), "copy in");
	dense_tanh<<<(DIM + 127) / 128, 128>>>(d_w, d_b, d_x, n, d_y);
	check(cudaGetLastError(), "launch");
	check(cudaMemcpy(y, d_y, DIM * sizeof(float), cudaMemcpyDeviceToHost), "copy out");
	return DIM;
}

static void init_model(void)
{
	static float w[DIM * DIM], b[DIM];

	for (int i = 0; i < DIM * DIM; i++)
		w[i] = (float)((i * 7919) % 2001 - 1000) / 10000.0f;
	for (int i = 0; i < DIM; i++)
		b[i] = (float)(i % 17) / 100.0f;
	check(cudaMalloc(&d_w, sizeof(w)), "malloc w");
	check(cudaMalloc(&d_b, sizeof(b)), "malloc b");
	check(cudaMalloc(&d_x, DIM * sizeof(float)), "malloc x");
	check(cudaMalloc(&d_y, DIM * sizeof(float)), "malloc y");
	check(cudaMemcpy(d_w, w, sizeof(w), cudaMemcpyHostToDevice), "copy w");
	check(cudaMemcpy(d_b, b, sizeof(b), cudaMemcpyHostToDevice), "copy b");
}

int main(int argc, char **argv)
{
	const char *go = NULL;
	long count = 1000;
	float x[DIM], y[DIM];
	cudaDeviceProp prop;

	for (int i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--count"))
			count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--go"))
			go = argv[++i];
	}
	init_model();
	check(cudaGetDeviceProperties(&prop, 0), "device");
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	while (go && access(go, F_OK))
		usleep(10000);
	for (long i = 0; i < count; i++) {
		int n = 1 + (int)(i % DIM);

		for (int j = 0; j < n; j++)
			x[j] = (float)((i * 131 + j) % 1000);
		predict(x, n, y);
	}
	printf("done calls=%ld device=%s\n", count, prop.name);
	return 0;
}
