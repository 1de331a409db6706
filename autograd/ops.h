// Every op of trifecta's public API, by family. Include this one header to use the framework.
#pragma once

#include "autograd/grad_mode.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/factories.h"
#include "autograd/ops/index.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/quantize.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/topk.h"
#include "tensor/tensor.h"
