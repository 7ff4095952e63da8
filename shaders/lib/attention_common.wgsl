// Shared by the attention kernels: the "no score yet" running max and the per-thread head-dim
// capacity, chosen by define (HD64, HD128; else 256) so private arrays stay as small as the model allows.
const NEG_BIG: f32 = -3.0e38;

//#ifdef HD64
const HD_MAX: u32 = 64u;
//#else
//#ifdef HD128
const HD_MAX: u32 = 128u;
//#else
const HD_MAX: u32 = 256u;
//#endif
//#endif
