/**
 * ganvas: look inside image generators and paint with their hidden activations.
 *
 * Data flows one way: model file → session → activations → visualization or painting → display.
 */
export { GanvasError, GanvasErrorCode, closestNames, editDistance } from './errors';
export { OnnxModel, loadModel, decodeModel, withGraph, defaultOpset, onnx } from './onnx/model';
export { GraphIndex, nodeReads } from './onnx/graph';
export { FlowNetwork } from './onnx/mincut';
export { Dim, ElemType, formatDims } from './onnx/types';
export { probe, ProbeOptions, ProbeResult, TensorInfo } from './onnx/probe';
export { layers, resolveLayer, LayerInfo } from './onnx/layers';
export { split, truncate, Split, TailInput } from './onnx/split';
export * from './runtime/tensor';
export * from './runtime/noise';
export {
  Runtime,
  RuntimeOptions,
  ModelSession,
  ExecutionProvider,
  InputSpec,
  Feed,
  Feeds,
  BatchOptions,
  toOrt,
  toFloatTensor,
} from './runtime/session';
export * from './runtime/image';
export { readNpy, writeNpy } from './runtime/npy';
export { writeFileAtomic } from './io';
export * from './manifest';
export * from './autodiff';
export { Generator, Cut, HeadResult, SampleOptions, RunOptions, takeSamples, takeRows } from './generator';
export * from './gridMask';
export * from './visualize';
export { FeatureExtractor } from './features';
export * from './tileability';
export * from './library';
export * from './paint';
export * from './masks';
export * from './dataset';
export * from './display';
export { WidgetServer, WidgetHost, WidgetServerOptions, defaultHost } from './widgets/server';
export { PaintWidget, PaintWidgetOptions } from './widgets/paint';
export { galleryWidget, showGallery, GalleryWidgetOptions } from './widgets/gallery';
export { sweepSvg, sweepPlotWidget, showSweepPlot } from './widgets/plot';
export * from './stain';
export * from './faithfulness';
export { compose, ComposePiece, ComposeOptions, initializersToInputs, inputsToInitializers } from './onnx/compose';
export { floatTensorProto, readFloatTensor } from './onnx/tensorProto';
export { preprocessModel, preprocessAffine, stitchLayerModel, nearestResize } from './onnx/pieces';
export * from './stitching/metrics';
export * from './stitching/data';
export * from './stitching/targetLayer';
export * from './stitching/init';
export { Stitch, demoStitchPath, StitchModels, CreateOptions as StitchCreateOptions, InvertOptions, StitchRecord, STITCH_FORMAT } from './stitching/stitch';
export { inverterModel, standaloneInverterModel, trainingModel, stitchParts, StitchParts, ImageSpec } from './stitching/compose';
export { trainStitch, tensorSource, ImageSource, EpochRecord, TrainProgress, TrainOptions as StitchTrainOptions } from './stitching/train';
export { demoStitchFiles, loadDemoStitches, readStitchRecord, validationHistory, bestEpoch, testNetworkOf, DemoStitchEntry, DemoStitchQuery, DemoStitches, ValidationPoint } from './stitching/demo';
export { stitchLabel, reconstructionSheet, variationSheet, cosineExtremes, endLayerSweep, endLayerSeries, validationSeries, ReconstructionSheetOptions, CosineExtremes, EndLayerPoint, EndLayerLine } from './stitching/figures';
export { StitchWidget, StitchWidgetOptions, showStitchWidget, STITCH_WIDGET_REQUESTS } from './widgets/stitch';
export { linePlotSvg, linePlotWidget, showLinePlot, LineSeries, LinePlotOptions } from './widgets/lines';
export * from './inversion';
export * from './gridInversion';
export { gridCurveSvg, gridCurvePlotWidget, showGridCurvePlot, GridCurveSeries } from './widgets/plot';
export { integerIn, positiveInt, finiteNumber, valueRange, finiteVector, pixelPosition, tcpPort, MAX_BATCH_FLOATS } from './validate';
export { ensureDir, removeOrphanTemps } from './io';
export { assertAcyclic } from './onnx/graph';
export { interruptSignal, interrupt, interruptError, listenForInterrupts, operationSignal, checkpoint, isAbort } from './interrupt';
export { layerTable, LayerTable, LayerRow, LayerKind, LayerTableOptions } from './layerBrowser';
export { show } from './show';
export { describeTensor, displayable } from './runtime/describe';
export { draftManifest, writeManifest, DraftOptions, ManifestDraft } from './manifestDraft';
export { CommManager, Comm, CommMessage, CommTarget, KNOWN_TSLAB } from './comm/kernel';
export { CommWidget, frontendHasGanvas, frontendHasGanvasReset } from './comm/widget';
export { WidgetTransport, chooseTransport } from './widgets/transport';
export { galleryCommWidget } from './widgets/gallery';
export { PlotWidgetOptions, plotCommWidget } from './widgets/plot';
