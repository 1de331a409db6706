// Every layer, initializer and loss of trifecta's nn library: include this one header to build networks.
#pragma once

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/feature_quantizer.h"
#include "nn/flatten.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/norm.h"
#include "nn/pool.h"
#include "nn/sequential.h"
#include "nn/spectral_norm.h"
#include "nn/weighted_layer.h"
